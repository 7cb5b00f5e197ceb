/* provider: choosing the implementation (see provider.h). */
#include "provider.h"

#include <string.h>

cfdr_code provider_open(struct cfdr_app *app, const struct cfdr_config *cfg, struct cfdr_state *st,
                        struct provider *out, cfdr_err *err)
{
    memset(out, 0, sizeof(*out));
    if (!app->g.local)
        return err_set(err, CFDR_E_UNSUPPORTED,
                       "AWS mode is not built yet in this version of cfdr; rehearse offline "
                       "with --local (nothing was done)");
    out->ops = &provider_local_ops;
    out->app = app;
    out->cfg = cfg;
    out->st = st;
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
