/* provider: choosing the implementation (see provider.h). */
#include "provider.h"

#include <string.h>

cfdr_code provider_open(struct cfdr_app *app, const struct cfdr_config *cfg, struct cfdr_state *st,
                        struct provider *out, cfdr_err *err)
{
    cfdr_code rc;
    memset(out, 0, sizeof(*out));
    if (app->g.local && app->g.dry_run)
        return err_set(err, CFDR_E_USAGE,
                       "--dry-run prints the AWS requests a command would send; offline mode "
                       "(--local) sends none: drop --dry-run or --local");
    out->ops = app->g.local ? &provider_local_ops : &provider_aws_ops;
    out->app = app;
    out->cfg = cfg;
    out->st = st;
    if (out->ops->open && (rc = out->ops->open(out, err))) {
        /* Nothing is held: provider_close on it is a no-op. */
        out->ops = NULL;
        return rc;
    }
    return CFDR_OK;
}

void provider_close(struct provider *p)
{
    if (p && p->ops && p->ops->close)
        p->ops->close(p);
}

int provider_supports_fault(const struct provider *p, const char *fault)
{
    for (const char *const *f = p->ops->faults; *f; f++)
        if (strcmp(*f, fault) == 0)
            return 1;
    return 0;
}
