"""Online stores: the latest feature values per entity, for lookups while serving.

:class:`OnlineStore` has three primitives (``write``, ``read``, ``clear``) over ``view -> key -> JSON text``;
encoding, batching and replacing a view are derived once in the base class. Backends are found through the
registry :data:`ONLINE_STORES` (entry-point group ``conveyor.online_stores``): ``sqlite`` (the default),
``redis`` and ``memory``. Every backend passes :mod:`conveyor.testing.online_store_contract`.
"""

from __future__ import annotations

from conveyor.features.online.base import ONLINE_STORES, OnlineStore, encode_key, open_online_store
from conveyor.features.online.lookup import online_features

__all__ = ["ONLINE_STORES", "OnlineStore", "encode_key", "online_features", "open_online_store"]
