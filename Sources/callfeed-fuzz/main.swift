print("callfeed-fuzz: not built yet")
