from tests.team.servers import team_cluster, team_dsn, team_server  # noqa: F401  (fixtures)
