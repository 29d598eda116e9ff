import os
from pathlib import Path

# `make test` exports SHARED_DATASETS_HOME=<workspace>/.data; running pytest by hand in a
# workspace checkout finds the same offline data without it.
_WORKSPACE_DATA = Path(__file__).resolve().parents[2] / ".data"
if not os.environ.get("SHARED_DATASETS_HOME") and _WORKSPACE_DATA.is_dir():
    os.environ["SHARED_DATASETS_HOME"] = str(_WORKSPACE_DATA)
