"""What a run needs from the outside world (database, blobs, sandboxes, models, clock), built once at the edge.

A surface builds them once per process with `open_services` and hands them to the
service functions; it names their type, and never builds or opens their parts itself.
A read command opens `read_services.open_read_services` instead: without SQLAlchemy on SQLite.
"""

from ..runs.services import RunServices as RunServices
from ..runs.services import open_services as open_services
