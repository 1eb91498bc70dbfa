/* A module for redis-server with the declarations of the Python module "hello" the module
 * oracle tests load into Zyst: what COMMAND, MODULE and INFO show of it is compared.
 *
 * It declares only the few calls of Redis's module API it makes. Redis hands a module its
 * functions by name: the first word of the context it passes to RedisModule_OnLoad is a
 * function that fills in a function pointer for a given name (what redismodule.h's
 * RedisModule_Init does for every function of the API). */

typedef struct ModuleCtx ModuleCtx;
typedef struct ModuleString ModuleString;
typedef int (*CommandFunc)(ModuleCtx *ctx, ModuleString **argv, int argc);

static int (*GetApi)(const char *name, void *slot);
static int (*CreateCommand)(ModuleCtx *ctx, const char *name, CommandFunc func,
                            const char *flags, int first, int last, int step);
static void (*SetModuleAttribs)(ModuleCtx *ctx, const char *name, int ver, int apiver);
static int (*ReplyWithSimpleString)(ModuleCtx *ctx, const char *text);

enum { OK = 0, ERR = 1 };

static int answer(ModuleCtx *ctx, ModuleString **argv, int argc) {
    (void)argv;
    (void)argc;
    return ReplyWithSimpleString(ctx, "OK");
}

int RedisModule_OnLoad(ModuleCtx *ctx, ModuleString **argv, int argc) {
    (void)argv;
    (void)argc;
    GetApi = (int (*)(const char *, void *))(unsigned long)((void **)ctx)[0];
    if (GetApi("RedisModule_CreateCommand", &CreateCommand) != OK ||
        GetApi("RedisModule_SetModuleAttribs", &SetModuleAttribs) != OK ||
        GetApi("RedisModule_ReplyWithSimpleString", &ReplyWithSimpleString) != OK)
        return ERR;
    SetModuleAttribs(ctx, "hello", 3, 1);
    if (CreateCommand(ctx, "hello.world", answer, "readonly fast", 0, 0, 0) != OK ||
        CreateCommand(ctx, "hello.set", answer, "write deny-oom", 1, 1, 1) != OK ||
        CreateCommand(ctx, "hello.keys", answer, "admin", 1, -1, 2) != OK)
        return ERR;
    return OK;
}
