/* Macros cppcheck needs to parse the module without httpd's headers. */
#define APLOGNO(n) "AH" #n ": "
