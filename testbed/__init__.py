"""Test and demo tools, the top of the stack below the CLI: the market-day simulator and the SSI-protocol feed server.

They may use every layer below; nothing below imports them. Docs: testbed/simulate/README.md, testbed/feed/README.md.
"""
