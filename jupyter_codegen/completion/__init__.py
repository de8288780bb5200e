"""The completion pipeline: analyse the cell at the cursor, select context,
render the fill-in-the-middle prompt, stop and clean what the model writes."""
