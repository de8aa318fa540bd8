"""Reading a reader study: the reader's flow, cases, blinding, progress, imported readings."""
