// The declaration in CFuzzDriver.h is all there is; libFuzzer defines the function.
