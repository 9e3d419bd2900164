"""The servers of the remote-store tests: fault_server (ours), nginx and moto, started by launch.py."""
