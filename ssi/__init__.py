"""The SSI FastConnect Data wire: the Broadcast envelope and the channel grammar of ``SwitchChannels``.

Above ``market``, below the lake. Docs: docs/ssi-wire.md.
"""
