"""Model hosting behind one small interface (see base.Engine)."""
