"""Files the command line writes and reads, kept light to import (no torch until a model is needed).

* :mod:`.sidecar`: the portrait sidecar, ``poses.json``, ``recovered.json``, fingerprints, digests, safe names;
* :mod:`.poses`: ``poses.json`` entries and the matching of a bottom-up P's people to given boxes;
* :mod:`.video`: video decoding with a frame count check, atomic writing, quiet decoders;
* :mod:`.config`: config files and ``--cfg-options`` with one-line errors;
* :mod:`.keyfile`: key files for ``mmrecanon keygen``.
"""
