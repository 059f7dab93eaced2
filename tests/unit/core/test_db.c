/* test_db.c - db_idle_alive, the pool's check before it hands out an idle connection.
 * libpq's leaf calls are wrapped (test_db.wrap); the socket is one end of a real
 * socketpair, so "the server sent its goodbye" and "the server closed" are real socket
 * states, not timings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/socket.h>
#include <unistd.h>

#include "apibench/db.h"

static ConnStatusType fake_status;
static PGTransactionStatusType fake_txn;
static int fake_socket;

ConnStatusType __wrap_PQstatus(const PGconn *pg);
PGTransactionStatusType __wrap_PQtransactionStatus(const PGconn *pg);
int __wrap_PQsocket(const PGconn *pg);

ConnStatusType __wrap_PQstatus(const PGconn *pg)
{
    (void)pg;
    return fake_status;
}
PGTransactionStatusType __wrap_PQtransactionStatus(const PGconn *pg)
{
    (void)pg;
    return fake_txn;
}
int __wrap_PQsocket(const PGconn *pg)
{
    (void)pg;
    return fake_socket;
}

/* Our end of the "connection" is fds[0]; the "server" holds fds[1]. */
static int fds[2];

static int setup(void **state)
{
    (void)state;
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
    fake_socket = fds[0];
    fake_status = CONNECTION_OK;
    fake_txn = PQTRANS_IDLE;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    close(fds[0]);
    if (fds[1] >= 0)
        close(fds[1]);
    return 0;
}

static void test_quiet_idle_connection_is_alive(void **state)
{
    (void)state;
    struct dbconn c = {0};
    assert_true(db_idle_alive(&c));
    assert_true(db_idle_alive(&c)); /* checking reads nothing and changes nothing */
}

static void test_server_closed_socket_is_dead(void **state)
{
    (void)state;
    struct dbconn c = {0};
    close(fds[1]); /* PostgreSQL went away: EOF, though libpq still says CONNECTION_OK */
    fds[1] = -1;
    assert_false(db_idle_alive(&c));
}

static void test_unread_goodbye_is_dead(void **state)
{
    (void)state;
    struct dbconn c = {0};
    /* a shutting-down server sends ErrorResponse FATAL 57P01 before it closes */
    static const char fatal[] = "E\0\0\0\x10SFATAL\0C57P01\0\0";
    assert_int_equal(write(fds[1], fatal, sizeof fatal - 1), (ssize_t)(sizeof fatal - 1));
    assert_false(db_idle_alive(&c));
    /* only looked: the bytes are still there for libpq to read */
    char b;
    assert_int_equal(recv(fds[0], &b, 1, MSG_PEEK | MSG_DONTWAIT), 1);
    assert_int_equal(b, 'E');
}

static void test_libpq_verdicts_count(void **state)
{
    (void)state;
    struct dbconn c = {0};
    fake_status = CONNECTION_BAD;
    assert_false(db_idle_alive(&c));
    fake_status = CONNECTION_OK;
    fake_txn = PQTRANS_INERROR; /* a failed request left its transaction open */
    assert_false(db_idle_alive(&c));
    fake_txn = PQTRANS_IDLE;
    c.broken = true;
    assert_false(db_idle_alive(&c));
    c.broken = false;
    fake_socket = -1;
    assert_false(db_idle_alive(&c));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_quiet_idle_connection_is_alive, setup, teardown),
        cmocka_unit_test_setup_teardown(test_server_closed_socket_is_dead, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unread_goodbye_is_dead, setup, teardown),
        cmocka_unit_test_setup_teardown(test_libpq_verdicts_count, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
