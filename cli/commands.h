#ifndef CLI_COMMANDS_H
#define CLI_COMMANDS_H

#define XCH_COMMAND(name, summary) int cmd_##name(int argc, char **argv);
#include "commands.def"
#undef XCH_COMMAND

#endif
