"""One module per command; each holds only parsing and rendering."""

from wanplan.cli.commands.apply import apply
from wanplan.cli.commands.comment import comment
from wanplan.cli.commands.cost import cost
from wanplan.cli.commands.emulator import emulator
from wanplan.cli.commands.force_unlock import force_unlock
from wanplan.cli.commands.gc import gc
from wanplan.cli.commands.graph import graph
from wanplan.cli.commands.import_ import import_
from wanplan.cli.commands.init import init
from wanplan.cli.commands.models import models
from wanplan.cli.commands.output import output
from wanplan.cli.commands.plan import plan
from wanplan.cli.commands.prices import prices
from wanplan.cli.commands.refresh import refresh
from wanplan.cli.commands.report import report
from wanplan.cli.commands.show import show
from wanplan.cli.commands.state import state
from wanplan.cli.commands.transfer import pull, push
from wanplan.cli.commands.validate import validate

COMMANDS = [
    init,
    validate,
    plan,
    apply,
    cost,
    show,
    report,
    graph,
    comment,
    state,
    import_,
    refresh,
    gc,
    output,
    pull,
    push,
    models,
    prices,
    force_unlock,
    emulator,
]
