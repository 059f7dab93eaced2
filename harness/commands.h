/* commands.h - the apibench CLI's subcommands. Each takes the arguments after its name
 * (argv[0] is the subcommand) and returns the process exit code: 0 success, 1 failure
 * (a breached SLO, a failed check), 2 bad usage. Errors are one line on stderr. */
#ifndef APIBENCH_COMMANDS_H
#define APIBENCH_COMMANDS_H

int seed_main(int argc, char **argv);     /* datasets/: load synthetic data */
int freshen_main(int argc, char **argv);  /* datasets/: move timestamps up to now */
int keys_main(int argc, char **argv);     /* datasets/: print the seeded users' API keys */
int keys_revoke_main(int argc, char **argv); /* datasets/: revoke a user's keys */
int run_main(int argc, char **argv);      /* harness/: measured load */
int verify_main(int argc, char **argv);   /* harness/: check builds before load */
int capacity_main(int argc, char **argv); /* harness/: capacity search, or --check a run */
int report_main(int argc, char **argv);   /* harness/: results folder -> report.md */
int compare_main(int argc, char **argv);  /* harness/: two results folders -> one table */
int lab_main(int argc, char **argv);      /* harness/: the workshop (setup, board, check) */
int lab_setup_main(int argc, char **argv);  /* harness/: a student's database, prefix, ports */
int lab_board_main(int argc, char **argv);  /* harness/: the room's scoreboard */

#endif
