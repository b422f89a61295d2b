// The help text (`help`, `--help`: stdout, exit 0; after a usage error its first lines go to stderr).
export const usage = `Usage: fastify-directory-sync <command> [options]

Manages the SCIM directories of fastify-directory-sync on its database, without a running server.
It never delivers events (no hooks, no webhooks, no jackson copy): the servers on the database do.

Commands:
  directories create --tenant T --product P [--type TYPE] [--name N]
                     [--webhook-url U --webhook-secret S]
                                     a new directory; prints its SCIM endpoint and bearer token
                                     (the last line is "ENDPOINT TOKEN")
  directories list [--tenant T --product P]
                                     every directory, or those of one tenant and product
  directories show <id> [--reveal-token]
                                     one directory, with its user and group counts
  directories deactivate <id>        its SCIM endpoint answers 403 (users and groups are kept)
  directories activate <id>          takes SCIM requests again
  directories delete <id>            deletes it with its users and groups
  directories rotate-token <id>      a new bearer token; prints "ENDPOINT TOKEN" last
  migrate                            brings the database up to date: jackson's tables, the plugin's
                                     migrations, and the rewrite under a new encryption key
  providers                          the directory types (--type) and their names
  help                               this text

Options (each also from an environment variable; an option given wins):
  --db <url>               DSYNC_DB               postgres://…, mysql://…, mariadb://…, redis://…,
                                                  a sqlite file path or sqlite:<path>, or the
                                                  plugin's db option as JSON ({"engine":…})
  --external-url <url>     DSYNC_EXTERNAL_URL     the URL the server is reached at (required by
                                                  the directories commands but delete)
  --scim-path <path>       DSYNC_SCIM_PATH        the full path the server serves SCIM under, any
                                                  prefix included (default /api/scim/v2.0)
  --encryption-key <key>   DSYNC_ENCRYPTION_KEY   the database's db.encryptionKey
  --connect-timeout <ms>   DSYNC_CONNECT_TIMEOUT  how long to wait for the database (default 10000)
  --json                                          one JSON document on stdout
  -h, --help                                      this text

Exit codes:
  0  done
  1  the operation failed (e.g. an unknown directory, a webhook URL that is not http(s))
  2  usage error (an unknown command or option, a missing required option)
  3  the database could not be opened (unreachable, refused, missing, a wrong or missing
     encryption key, a pending migration)
`
