"""`python -m baton`: the command line (what `baton worker --processes N` starts per child)."""

from baton.cli.main import main

if __name__ == "__main__":
    main()
