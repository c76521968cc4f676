"""The rig-central command line."""
