/* cmd_init: `cfdr init` — write a commented starter cfdr.json. */
#include "cmd/commands.h"
#include "cmd/config.h"

cfdr_code cmd_init(struct cfdr_app *app, const struct cli_invocation *inv, cfdr_err *err)
{
    const char *path = app->g.config_path;
    cfdr_code rc = config_write_starter(path, app->g.local, cli_has(inv, "force"), err);
    if (rc)
        return rc;
    if (app->g.json) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "config", json_object_new_string(path));
        json_object_object_add(o, "local", json_object_new_boolean(app->g.local));
        app_set_result(app, o);
    } else {
        fprintf(app->out, "%s\n", path);
    }
    app_say(app, "wrote %s; edit it, then run: cfdr %screate", path,
            app->g.local ? "--local " : "");
    return CFDR_OK;
}
