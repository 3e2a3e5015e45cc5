"""The content a stack serves, as the local tools and the sandbox both read it: a folder of files
whose paths become object keys. No Pulumi and no command line here."""
