"""The bundled sample organization, its generator, its local API server and the demo.

Demo scaffolding, above the library: it uses :mod:`cfusage.io`, :mod:`cfusage.fetch` and
:mod:`cfusage.viz`, and nothing in the library imports it. The data ships inside the package
(``cfusage/sample/data/``), so ``cfusage.sample.load()`` works from an installed copy.

- :func:`load`: the committed sample as a typed frame (19,621 rows, 5 accounts, 20 metrics).
- :func:`generate_records`: the same organization for any date range (deterministic).
- :func:`large_store`: a year of a large organization (up to 1,000 accounts x 100 metrics x 365
  days, 36.5M rows) written as a :class:`cfusage.Store`, for the engines (notebook 07) and benchmarks.
- :class:`SampleServer`: the organization and account endpoints on a loopback port
  (``cfusage serve-sample``).
- ``python -m cfusage.sample DIR``: write the sample files and a price book into ``DIR``.

Examples
--------
>>> from cfusage import sample
>>> df = sample.load()
>>> len(df), df["billing_account_name"].nunique()
(19621, 5)
"""

from . import _generate
from ._generate import *  # noqa: F403  (the generator's public names, listed in its __all__)
from ._large import large_store
from ._server import SampleServer, ServedRequest

__all__ = [*_generate.__all__, "SampleServer", "ServedRequest", "large_store"]
