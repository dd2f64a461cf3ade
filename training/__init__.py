"""Training and evaluation scripts for ColorLab's models: ``python -m training.<script>``."""
