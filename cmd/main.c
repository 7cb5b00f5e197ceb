/* main: the cfdr executable. */
#include <stdio.h>

int main(void)
{
    fprintf(stderr, "cfdr: the command line is being built\n");
    return 2;
}
