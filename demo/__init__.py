"""``make demo``: the whole of XAA on the embedded defaults, hop by hop.

Not part of the library: it starts the reference apps and drives them with
the library's public client, printing what crosses each hop.
"""
