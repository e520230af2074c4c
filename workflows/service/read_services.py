"""What a read command needs (the rows, the clock), opened without SQLAlchemy on SQLite (runs/read_services.py).

Apart from run_services.py, whose `RunServices` imports SQLAlchemy.
"""

from ..runs.read_services import Reads as Reads
from ..runs.read_services import open_read_services as open_read_services
