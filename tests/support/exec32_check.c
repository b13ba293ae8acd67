/* Built -m32: whether this machine executes 32-bit programs (capability.hpp). */
int main(void) { return 0; }
