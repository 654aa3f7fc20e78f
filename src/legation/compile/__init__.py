"""The compiler: parsed resources → IR, with Ambassador's semantics. Pure: no I/O."""
