"""The parts of the page, one module each with a ``mount(ctx)``: the only DOM code."""
