/* joincmd: `wormhole-client join FLOW [--as from|to|member]` (DESIGN §7,
 * §8): asks the running client daemon, through its local API, to join a
 * flow over its server session, and prints the outcome in one line. */
#ifndef WH_JOINCMD_H
#define WH_JOINCMD_H

/* argv[0] is "join"; the rest are the subcommand's arguments (-c FILE
 * and --help may also come here). config_path: the -c given before the
 * subcommand, or the default. Returns the exit code: 0 joined (or already
 * in), 1 refused or failed (no daemon, no server, no answer), 2 usage or
 * client.ini error. */
int joincmd_main(const char *config_path, int argc, char **argv);

#endif
