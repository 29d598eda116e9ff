"""Byte-exact stand-ins for CIFAR-10's python batches, written opcode by opcode.

The real batches are Python 2 ``cPickle`` protocol-2 dumps of
``{"data": uint8 array, "labels": [...], "batch_label": str, "filenames": [...]}``;
this writer emits the same opcode sequence (``pickletools.dis`` of a real batch:
SHORT_BINSTRING keys, numpy's ``_reconstruct``/``ndarray``/``dtype`` GLOBALs, the pixels
as one BINSTRING, BINPUT after each object), so the tests need no ``pickle`` module.
"""

import struct

import numpy as np

CALLED = []


def mark_called(*args):
    """Named by the malicious stream of the tests; unpickling it would call this."""
    CALLED.append(args)
    return args


class _Writer:
    def __init__(self):
        self.out, self.memo = bytearray(b"\x80\x02"), 0

    def put(self):
        self.memo += 1
        self.out += b"q" + bytes([self.memo])

    def string(self, value: bytes):
        if len(value) < 256:
            self.out += b"U" + bytes([len(value)]) + value
        else:
            self.out += b"T" + struct.pack("<i", len(value)) + value
        self.put()

    def integer(self, value: int):
        if 0 <= value < 256:
            self.out += b"K" + bytes([value])
        elif 0 <= value < 65536:
            self.out += b"M" + struct.pack("<H", value)
        else:
            self.out += b"J" + struct.pack("<i", value)

    def glob(self, module: str, name: str):
        self.out += b"c" + f"{module}\n{name}\n".encode()
        self.put()


def cifar_batch_stream(
    data: np.ndarray, labels, batch_label: str, *, extra_key=False, dtype=b"u1"
) -> bytes:
    """The protocol-2 stream of one batch holding ``data`` (rows x 3072, uint8) and ``labels``."""
    w = _Writer()
    w.out += b"}"
    w.put()
    w.out += b"("
    w.string(b"data")
    w.glob("numpy.core.multiarray", "_reconstruct")
    w.out += b"("
    w.glob("numpy", "ndarray")
    w.integer(0)
    w.out += b"\x85"  # TUPLE1
    w.put()
    w.string(b"b")
    w.out += b"tR"  # TUPLE, REDUCE
    w.put()
    w.out += b"("
    w.integer(1)
    w.integer(data.shape[0])
    w.integer(data.shape[1])
    w.out += b"\x86"  # TUPLE2
    w.put()
    w.glob("numpy", "dtype")
    w.string(dtype)
    w.integer(0)
    w.integer(1)
    w.out += b"\x87R"  # TUPLE3, REDUCE
    w.put()
    w.out += b"("
    w.integer(3)
    w.string(b"|")
    w.out += b"NNN"
    w.out += b"J" + struct.pack("<i", -1) + b"J" + struct.pack("<i", -1)
    w.integer(0)
    w.out += b"tb"  # TUPLE, BUILD
    w.out += b"\x89"  # NEWFALSE
    w.string(np.ascontiguousarray(data, dtype=np.uint8).tobytes())
    w.out += b"tb"  # TUPLE, BUILD
    w.string(b"labels")
    w.out += b"]"
    w.put()
    w.out += b"("
    for label in labels:
        w.integer(int(label))
    w.out += b"e"  # APPENDS
    w.string(b"batch_label")
    w.string(batch_label.encode())
    w.string(b"filenames")
    w.out += b"]"
    w.put()
    w.out += b"("
    for i in range(len(labels)):
        w.string(f"image_{i:05d}.png".encode())
    w.out += b"e"
    if extra_key:
        w.string(b"extra")
        w.integer(1)
    w.out += b"u."  # SETITEMS, STOP
    return bytes(w.out)
