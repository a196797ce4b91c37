"""Demo parts, one per capability (see ``mmscore.demo``)."""
