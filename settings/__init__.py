"""A stack's settings: every config key declared once (``table``), parsed and checked together
(``parser``), read from a stack file by the local tools (``stack_file``), and published into
``Pulumi.yaml`` and docs/configuration.md (``generator``)."""
