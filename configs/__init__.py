"""The shipped configs, installed as ``kmc.configs`` (package data; see ``kmc config list``)."""
