"""S3 values the buckets are kept by: how long versions, uploads and batch reports live."""

# Versioned buckets keep every overwritten or deleted version until a lifecycle rule expires it.
DEFAULT_NONCURRENT_VERSION_DAYS = 30
# Uploads that never completed still cost storage; S3 aborts them after this many days.
ABORT_INCOMPLETE_UPLOAD_DAYS = 7

# S3 Batch Replication (./dev backfill): the generated manifests and completion reports stay this
# many days in the batch bucket of their Region, then S3 expires them.
BATCH_REPORT_DAYS = 30
