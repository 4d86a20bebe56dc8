/* SPDX-License-Identifier: MIT */
/* The code blocks of docs/cpp.md are compiled into this test (see
 * doc-snippets.py); the programs among them, the manual's producer and
 * consumer, and its listener and connector (an anonymous ring on an
 * abstract socket), are run here against each other in two processes. */
#include <zinc/zinc.hpp>

#include <gtest/gtest.h>

#include <csignal>
#include <cstring>
#include <string>

#include "util.hpp"

struct DocProgram {
    const char *name;
    int (*main)(int, char **);
};
extern const DocProgram doc_programs[];
extern const int doc_program_count;

namespace {

int (*doc_program(const char *name))(int, char **)
{
    for (int i = 0; i < doc_program_count; i++)
        if (std::strcmp(doc_programs[i].name, name) == 0)
            return doc_programs[i].main;
    return nullptr;
}

/* Run a doc program in a child with argv = {name, args...}. */
pid_t run_program(int (*prog)(int, char **), std::vector<std::string> args)
{
    return ztest::fork_run([prog, args]() mutable {
        std::vector<char *> argv;
        for (std::string &a : args)
            argv.push_back(a.data());
        argv.push_back(nullptr);
        return prog(static_cast<int>(args.size()), argv.data());
    });
}

class Docs : public ztest::Named {
};

TEST_F(Docs, ManualHasAProducerAndAConsumerProgram)
{
    EXPECT_GE(doc_program_count, 4);
    EXPECT_NE(doc_program("producer"), nullptr);
    EXPECT_NE(doc_program("consumer"), nullptr);
}

/* The consumer waits for the ring, reads 20 frames and exits 0; the
 * producer publishes until SIGTERM, then exits 0. */
TEST_F(Docs, ManualProducerAndConsumerRunTogether)
{
    auto producer = doc_program("producer"), consumer = doc_program("consumer");
    ASSERT_TRUE(producer && consumer);
    pid_t cons = run_program(consumer, {"consumer", name(), "20"});
    ASSERT_GT(cons, 0);
    pid_t prod = run_program(producer, {"producer", name()});
    ASSERT_GT(prod, 0);
    int cons_status = ztest::wait_status(cons);
    kill(prod, SIGTERM);
    EXPECT_EQ(cons_status, 0);
    EXPECT_EQ(ztest::wait_status(prod), 0);
}

/* The anonymous-ring pair: the listener serves 50 frames on an abstract
 * socket once the connector attached; the connector reads them with epoll
 * on its descriptor and exits 0 when it got all 50, intact. */
TEST_F(Docs, ManualListenerAndConnectorRunTogether)
{
    auto listener = doc_program("listener"), connector = doc_program("connector");
    ASSERT_TRUE(listener && connector);
    const std::string address = "@" + name();
    pid_t cons = run_program(connector, {"connector", address, "50"});
    ASSERT_GT(cons, 0);
    pid_t prod = run_program(listener, {"listener", address, "50"});
    ASSERT_GT(prod, 0);
    EXPECT_EQ(ztest::wait_status(prod), 0);
    EXPECT_EQ(ztest::wait_status(cons), 0);
}

} // namespace
