"""Local command-line tools that work from the stack files, with no AWS account."""
