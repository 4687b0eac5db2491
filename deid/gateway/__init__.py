"""The DICOM network gateway: `deid serve` (a storage SCP that spools what it receives,
de-identifies it through the engine and forwards it through a network sink) and `deid
pull` (C-FIND + C-GET from a PACS into the same spool). docs/gateway.md.

    spool.py     the durable on-disk queue (fsync before the sender hears success)
    scp.py       the receiving AE: C-ECHO, C-STORE, who may call, TLS
    service.py   the loop: spool -> engine (handlers, verify, audit) -> sink; drain, status
    config.py    `deid serve`'s options, checked as they are built
    pull.py      C-FIND + C-GET for a list of studies, resumable
"""
