// TurboJPEG reports every libjpeg error through return codes (its own setjmp
// lives inside the C library), so Swift never sees a longjmp or an exit().
#include <stddef.h>
#include <turbojpeg.h>
