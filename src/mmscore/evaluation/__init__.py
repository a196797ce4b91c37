"""Encoder evaluation suite (the SPECS / Long-CLIP protocols on locally downloaded data).

- ``datasets``: readers for the layouts users download (ImageNet-style folders, CIFAR pickles,
  COCO captions JSON, Urban1k, Flickr30k token file, sDCI-style specificity sets);
- ``zeroshot``, ``retrieval``, ``specificity``: run an encoder over a dataset and compute the
  numbers with ``mmscore.metrics``.
"""
