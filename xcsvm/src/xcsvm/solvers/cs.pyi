# Type stub of the compiled Cython module cs.pyx: mypy cannot read the extension, so
# its names are typed Any here. Its kernels are called only from xcsvm's Python wrappers,
# which check the arguments and types at the boundary.
from typing import Any

def __getattr__(name: str) -> Any: ...
