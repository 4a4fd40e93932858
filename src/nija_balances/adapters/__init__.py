"""Exchange adapters behind one interface (`interface.Adapter`), served by `registry`."""
