"""The exported Taskscope trainer's modules (torch only). train.py in the folder above is the entry point."""
