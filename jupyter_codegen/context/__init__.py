"""What a prompt takes from the notebook: parsing cells with tree-sitter,
choosing the cells that matter, fitting them into a token budget."""
