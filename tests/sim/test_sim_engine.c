#include <criterion/criterion.h>
#include "sim_scenario.h"
Test (sim, placeholder) {}
