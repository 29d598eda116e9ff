"""Remote datasets (being written)."""
REMOTE_INFOS: dict = {}


def load_remote(name, **params):
    raise NotImplementedError(name)
