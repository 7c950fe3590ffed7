import os
import sys

sys.path.insert(0, os.path.dirname(__file__))  # builders_helpers.py (pytest runs with --import-mode=importlib)
