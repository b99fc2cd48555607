from tests.server.conftest import pg_cluster  # noqa: F401  (the session's PostgreSQL, shared with the server tests)
from tests.team.servers import team_dsn, team_server  # noqa: F401  (fixtures)
