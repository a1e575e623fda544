from ztix.cli.main import app

app(prog_name="ztix")
